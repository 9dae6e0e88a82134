// `node --import ./register.mjs`: the k6 shim's module hooks (hooks.mjs). Tests only.
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
