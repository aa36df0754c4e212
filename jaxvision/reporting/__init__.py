"""What people look at after a run: curves, confusion matrices, comparisons (PNG + Markdown)."""
