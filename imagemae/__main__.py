from imagemae.lesson import main

raise SystemExit(main())
