declare module "pino-roll" {
  import type { DestinationStream } from "pino";
  export default function pinoRoll(options: {
    file: string | (() => string);
    frequency?: "daily" | "hourly" | number;
    size?: string | number;
    dateFormat?: string;
    mkdir?: boolean;
    extension?: string;
    limit?: { count?: number; removeOtherLogFiles?: boolean };
    symlink?: boolean;
  }): Promise<DestinationStream>;
}
