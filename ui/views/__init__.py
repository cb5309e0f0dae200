"""The widgets of the main window: browser (table), navigator, CI panel and
form, class manager, pickers and dialogs."""
