"""Tools for tests and benchmarks, not the app: a real `streamlit run` and headless chromium."""
