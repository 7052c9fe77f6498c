from factorspace.cli import main

main()
