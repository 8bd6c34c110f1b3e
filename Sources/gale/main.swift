print("gale: not yet")
