"""Shared support for the Streamlit pages: cached loaders, session state and the result grid.

Lives outside `pages/` so nothing here is ever mistaken for a page, and outside `core/`
because it imports Streamlit (core never does).
"""
