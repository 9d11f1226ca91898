"""Hand models: the open default, MANO loading without chumpy, joint orders."""
