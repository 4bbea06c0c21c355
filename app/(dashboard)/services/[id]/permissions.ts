/** What the signed-in user may do on a service's page: worked out on the server (page.tsx), read by every panel of the page. */
export interface Permissions {
  createRelease: boolean;
  deploy: boolean;
  redeploy: boolean;
  editPolicy: boolean;
  editThresholds: boolean;
  traffic: boolean;
  hooks: boolean;
  configureTarget: boolean;
  prometheus: boolean;
  configurePrometheus: boolean;
  checklistTemplate: boolean;
  tokens: boolean;
  history: boolean;
}
