from vit.lesson import main

raise SystemExit(main())
