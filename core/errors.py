"""Errors a user can cause and fix: the CLI prints them as one line, pages show them with st.error."""


class UserError(Exception):
    """An error the user can fix; printed as one line, never as a traceback."""
