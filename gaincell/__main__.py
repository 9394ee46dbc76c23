from gaincell.cli import main

raise SystemExit(main())
