from videomae.lesson import main

raise SystemExit(main())
