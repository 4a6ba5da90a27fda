"""What rules share about TypeScript and JavaScript trees (tree-sitter nodes)."""
