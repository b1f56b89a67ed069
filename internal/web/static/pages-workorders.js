// pages-workorders: page module (see window.CB in app.js). Routes defined here replace the defaults.
