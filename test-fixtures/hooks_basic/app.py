print("hooks app")
