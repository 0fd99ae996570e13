/** Docker's embedded DNS address, served inside every container that uses the resolver. */
export const EMBEDDED_DNS = '127.0.0.11';
