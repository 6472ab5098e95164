/** apptrack's CDK construct library: `new Apptrack(this, 'Apptrack', { ... })`. */
export { Apptrack, DEFAULT_TEMPLATE, type ApptrackFunction } from './apptrack';
export { PARAMETERS_OF, type ApptrackProps, type ApptrackSettings } from './props';
export { loadTemplate, parseTemplateText, type SamTemplate } from './template';
export { rustFunctions, subscriptions } from './sam';
