/** The one-line call, as a source uses it: the correct fixture runs the whole suite under vitest. */
import { describeConnectorAcceptance } from './index.js';
import { fixtureOptions } from './mutants/fixture.js';

describeConnectorAcceptance(fixtureOptions());
