/** Character codes the line grammars scan for (they compare `charCodeAt` or bytes, never regexes). */
export const charTab = 0x09;
export const charSpace = 0x20;
export const charHash = 0x23;
export const charOpenParen = 0x28;
export const charCloseParen = 0x29;
export const charPlus = 0x2b;
export const charDash = 0x2d;
export const charDot = 0x2e;
export const char0 = 0x30;
export const char9 = 0x39;
export const charColon = 0x3a;
export const charEquals = 0x3d;
export const charGreater = 0x3e;
export const charOpenBracket = 0x5b;
export const charCloseBracket = 0x5d;
