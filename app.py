"""gansim's classroom app: `streamlit run app.py`.

The server: each tab runs page.py (the page's layout), and the live arena's film fetches
its payloads from a route of its own (gansim/ui/film.py) instead of a rerun of the page.
`streamlit run` finds the `app` below and serves both.
"""
import streamlit as st
from streamlit import config

from gansim.ui import film

# Streamlit prefixes its own routes with the base path, not an app's: say it here.
app = st.App("page.py", routes=film.routes(config.get_option("server.baseUrlPath")))
