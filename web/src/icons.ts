// Achievement icons by name (AchievementDef.icon), drawn with emoji so the app
// ships no icon font. Unknown names get a medal.
const ICONS: Record<string, string> = {
  flame: "🔥", trophy: "🏆", star: "⭐", target: "🎯", crown: "👑", sparkles: "✨", flag: "🏁", network: "🕸️",
  dumbbell: "🏋️", scale: "⚖️", quote: "❝", mountain: "⛰️", infinity: "♾️", "calendar-check": "📅", brain: "🧠",
  footprints: "👣", "circle-check": "✅", crosshair: "⌖", library: "📚", "list-checks": "📋", rocket: "🚀",
  seedling: "🌱", medal: "🏅", gem: "💎", bolt: "⚡", book: "📘",
};

export function iconFor(name?: string): string {
  return (name && ICONS[name]) || "🏅";
}
