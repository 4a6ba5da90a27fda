"""Knowledge shared by several rules, by ecosystem: Python and its libraries, SQL, GitHub Actions."""
