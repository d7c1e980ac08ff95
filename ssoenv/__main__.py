from ssoenv.cli import main

raise SystemExit(main())
