from ui.nav import page_setup

page_setup()

from ui.case_list_page import render  # noqa: E402

render()
