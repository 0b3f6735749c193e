"""Helpers of tests/test_browser.py: the kit opened in JupyterLab in a real (headless) Chromium.

chromium.py       finds Debian's Chromium, installing it (and the Playwright driver) when missing
lab.py            a JupyterLab server on loopback, in a throw-away copy of the repository
notebook_page.py  what a student does in the browser: open a notebook, Run All, read the outputs
"""
