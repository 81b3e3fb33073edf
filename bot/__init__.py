"""kyodo: the LINE bot's web side (app factory, webhook, dispatcher, LINE adapter)."""
