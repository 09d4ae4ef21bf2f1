from ui.nav import page_setup

page_setup()

from ui.users_page import render  # noqa: E402

render()
