import type { Metadata } from "next";
import { connection } from "next/server";
import type { ReactNode } from "react";
import { HydrationMark } from "./_components/HydrationMark";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "Greenlight", template: "%s · Greenlight" },
  description: "Release control panel",
  icons: { icon: "/greenlight.svg" },
};

export default async function RootLayout({ children }: { children: ReactNode }) {
  // Every page is rendered per request: scripts carry that request's CSP nonce.
  await connection();
  return (
    <html lang="en">
      <body>
        <HydrationMark />
        {children}
      </body>
    </html>
  );
}
