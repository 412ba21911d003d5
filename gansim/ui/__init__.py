"""The Streamlit app's pieces: widgets → Config, Snapshot → charts, URL state, exports.

Only this folder may import streamlit or altair; the engine above it never does.
"""
