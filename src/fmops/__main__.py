from fmops.cli import main

main()
