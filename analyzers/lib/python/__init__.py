"""Helpers over Python's ``ast`` that more than one rule needs: what a module
imports, and what a node names, holds or nests."""
