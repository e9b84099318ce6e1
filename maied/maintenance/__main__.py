from maied.maintenance.cli import main

main()
