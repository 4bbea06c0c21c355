/**
 * What the signed-in user may do on the maintenance page (worked out on the server, page.tsx), and which
 * emergency or review a link asked to open.
 */
export interface MaintenanceCan {
  manageRules: boolean;
  updateRules: boolean;
  deleteRules: boolean;
  requestEmergency: boolean;
  authorize: boolean;
  reject: boolean;
  close: boolean;
  updateReview: boolean;
  signOff: boolean;
  cancelSchedule: boolean;
}

export interface Focus {
  emergency: string | null;
  review: string | null;
}
