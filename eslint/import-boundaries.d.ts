import type { Rule } from 'eslint'

export declare const ALLOWED_IMPORTS: Record<'protocols' | 'hardware' | 'edge-agent' | 'gateway' | 'provisioning' | 'cli' | 'test' | 'bench' | 'scripts', readonly string[]>
export declare const importBoundaries: Rule.RuleModule
declare const plugin: { rules: { 'import-boundaries': Rule.RuleModule } }
export default plugin
