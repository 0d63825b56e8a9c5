"""Errors a user can cause and fix: the CLI prints one line, pages show st.error."""


class UserError(Exception):
    """An error the user can fix; printed as one line, never as a traceback."""
