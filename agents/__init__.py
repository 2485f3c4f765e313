"""The agent hook: an HTTPS endpoint per account that answers the messages the policies admit."""
