/** Character codes the line grammars scan for (they compare `charCodeAt`, never regexes). */
export const charTab = 0x09;
export const charSpace = 0x20;
export const charHash = 0x23;
export const charDash = 0x2d;
export const charDot = 0x2e;
export const char0 = 0x30;
export const char9 = 0x39;
export const charColon = 0x3a;
export const charCloseBracket = 0x5d;
