from escli.cli import main

main()
