#!/usr/bin/env node
'use strict';
// The server: starts when its module loads (dist/src/index.js).
require('./launch')('index');
