import { z } from "zod";
import { submitSurvey, surveyInput, surveysFor, surveySummary } from "../../governance/surveys.ts";
import { createRouter, procedure } from "../init.ts";

export const surveysRouter = createRouter({
  submit: procedure
    .input(surveyInput)
    .mutation(({ ctx, input }) => submitSurvey(ctx.services.prisma, ctx.actor, input)),
  summary: procedure.query(({ ctx }) => surveySummary(ctx.services.prisma)),
  forDeployment: procedure
    .input(z.object({ deploymentId: z.string().uuid("must be a deployment id") }))
    .query(({ ctx, input }) => surveysFor(ctx.services.prisma, input.deploymentId)),
});
