def main():
    import blinker

    print(f"Hello from greeter, with blinker {blinker.__name__}")
