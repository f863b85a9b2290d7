// Empty: the header declares what libFuzzer provides.
