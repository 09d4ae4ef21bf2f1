from ui.nav import page_setup

page_setup()

from ui.approval_page import render  # noqa: E402

render()
