import { createRelease, createReleaseInput } from "../../releases/catalog.ts";
import { createRouter, procedure } from "../init.ts";

export const releasesRouter = createRouter({
  create: procedure
    .input(createReleaseInput)
    .mutation(({ ctx, input }) => createRelease(ctx.services.prisma, ctx.actor, input)),
});
