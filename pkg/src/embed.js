// @ts-check
// The embedding module's glue as a classic script: the compute Worker that holds the model
// importScripts() it when the first text task arrives, so no other page or Worker downloads it.
import init, { Model, TextRun } from '../wasm/edgenet_embed.js';

self.EdgeNetEmbed = { init, Model, TextRun };
