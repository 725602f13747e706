// dependency-cruiser's configuration: the layer rule of scripts/layer-rule.cjs.
'use strict';

module.exports = require('./scripts/layer-rule.cjs').config;
