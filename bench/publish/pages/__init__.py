"""One module per page of a suite (`latency`, `quality`, `frontier`, `comparison`) and the site's `overview`;
a suite page module has `KIND`, `applies(suite)` and `body(context)`."""
