"""One module per console page; each registers its views on incidents.web.console.bp."""
