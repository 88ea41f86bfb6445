"""Pure functions from the annotated segment table to summaries and renderings."""
