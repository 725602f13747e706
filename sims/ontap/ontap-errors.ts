/**
 * @module
 * ONTAP's error shape (`{"error":{"message","code","target"}}`, the code a decimal string)
 * and the codes the simulator answers with. Codes marked "documented" are those NetApp's
 * REST API reference lists for the operation; the few marked "simulator" stand for
 * failures ONTAP reports with codes its public reference does not list, and clients must
 * rely on the message, not the number, for those.
 */
export class OntapError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly target?: string) {
    super(message);
  }

  body(): { error: { message: string; code: string; target?: string } } {
    return { error: { message: this.message, code: this.code, ...(this.target ? { target: this.target } : {}) } };
  }
}

export const OntapCode = {
  // documented
  entryNotFound: '4',
  volumeNotFound: '917927',
  snapshotReserveTooLarge: '917835',
  oneAggregate: '918242',
  svmNotFound: '2621462',
  noSvm: '2621707',
  lunNameInvalid: '5374121',
  lunSizeTooSmall: '5374124',
  lunSizeTooLarge: '5374125',
  lunInSnapshot: '5374238',
  lunExists: '5374242',
  lunNotFound: '5374875',
  lunMapped: '1254197',
  lunAlreadyMapped: '1254207',
  igroupExists: '5374023',
  igroupNotFound: '5374852',
  igroupMapped: '1254213',
  initiatorInvalid: '5374039',
  initiatorExists: '5374035',
  initiatorNotMember: '5374034',
  snapshotBusy: '1638555',
  jobNotFound: '4',
  // simulator (ONTAP reports these failures; the public reference gives no number)
  notAuthorized: '6',
  invalidField: '262179',
  duplicateVolume: '917505',
  aggregateNotFound: '918233',
  aggregateNoSpace: '917534',
  volumeNoSpace: '13566',
  volumeHasClones: '917820',
  volumeHasLuns: '917821',
  snapshotExists: '1638402',
  snapshotNotFound: '1638500',
  cloneAcrossVolumes: '5374862',
} as const;

export const notFound = (what: string, code: string = OntapCode.entryNotFound): OntapError =>
  new OntapError(404, code, `${what} not found`);

export const badRequest = (code: string, message: string, target?: string): OntapError => new OntapError(400, code, message, target);
