from zoomaudit.cli import main

main()
